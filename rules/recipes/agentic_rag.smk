# Recipe agentic_rag (knowrl rag ...; ../shared/docs/RECIPES.md A): two-hop demo questions + their pages + protocol
# traces -> the core's build_kb (kb.corpus = results/rag/data/corpus.jsonl in the rag profiles) -> optional cold
# start with the core's train_sft (grpo.init = results/sft, sft.data = the traces) -> GRPO with multi-turn search
# rollouts -> EM / F1 / searches per question on the held-out split for base (+ sft) and the trained model, each
# with and without retrieval -> table and plots.


include: "agentic_rag_common.smk"


rule make_rag_demo:
    input:
        corpus=asset_manifest("demo_corpus"),
    output:
        train="results/rag/data/train.json",
        heldout="results/rag/data/heldout.json",
        corpus="results/rag/data/corpus.jsonl",
        coldstart="results/rag/data/coldstart.json",
    log:
        "logs/rag/demo.log",
    params:
        corpus=f"{ASSETS}/demo_corpus/summaries_en-us.json",
        settings=get_stage_config("rag_demo"),
        sizes=" ".join(f"--set agentic_rag.demo.{k}={v}" for k, v in config["agentic_rag"]["demo"].items()),
        out=subpath(output.train, parent=True),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/train.yaml"
    container:
        get_container("train")
    shell:
        "knowrl rag demo --corpus {params.corpus} --out {params.out} {params.settings} {params.sizes} > {log} 2>&1"


rule train_rag_grpo:
    input:
        unpack(get_rag_train_inputs),
    output:
        sums="results/rag/grpo/SHA256SUMS",
        metrics="results/rag/grpo/metrics.jsonl",
    log:
        "logs/rag/train.log",
    benchmark:
        "benchmarks/rag/train.tsv"
    params:
        settings=get_stage_config("rag"),
        kb=subpath(input.kb, parent=True),
        out=subpath(output.sums, parent=True),
    threads: lookup(dpath="train/processes", within=config)
    resources:
        gpu=get_train_gpu("grpo"),
        mem_mb=get_train_mem_mb("grpo", cpu_mb=8000, gpu_mb=96000),
        runtime=1440 if get_train_gpu("grpo") else 120,
    conda:
        f"../../envs/{get_train_role('grpo')}.yaml"
    container:
        get_container(get_train_role("grpo"))
    shell:
        "knowrl rag train --data {input.data} --kb {params.kb} --out {params.out} --resume if-unchanged "
        "{params.settings} > {log} 2>&1"


rule eval_rag:
    input:
        unpack(get_rag_eval_inputs),
        questions=get_rag_data("heldout"),
        kb=f"{get_rag_kb()}/manifest.json",
        policy=get_policy_input(),
    output:
        "results/rag/eval/{model}-{mode}/summary.json",
    log:
        "logs/rag/eval-{model}-{mode}.log",
    wildcard_constraints:
        model="|".join(RAG_MODELS),
        mode="|".join(RAG_MODES),
    params:
        settings=get_stage_config("rag"),
        flags=get_rag_eval_flags,
        kb=subpath(input.kb, parent=True),
        out=subpath(output[0], parent=True),
    resources:
        mem_mb=6000,
        runtime=60,
    conda:
        "../../envs/eval.yaml"
    container:
        get_container("eval")
    shell:
        "knowrl rag eval --questions {input.questions} --kb {params.kb} --out {params.out} {params.flags} "
        "{params.settings} > {log} 2>&1"


rule report_rag:
    input:
        runs=expand("results/rag/eval/{model}-{mode}/summary.json", model=RAG_MODELS, mode=RAG_MODES),
        metrics="results/rag/grpo/metrics.jsonl",
    output:
        get_recipe_outputs(),
    log:
        "logs/rag/report.log",
    params:
        runs=" ".join(f"--run {m}-{d}=results/rag/eval/{m}-{d}" for m in RAG_MODELS for d in RAG_MODES),
        out=subpath(output[0], parent=True),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/eval.yaml"
    container:
        get_container("eval")
    shell:
        "knowrl rag report {params.runs} --metrics {input.metrics} --out {params.out} > {log} 2>&1"
