# Recipe self_knowledge (knowrl selfknow ...; ../shared/docs/RECIPES.md B): the iteration loop (introspection ->
# self-analysis -> consensus -> filter -> pool update -> GRPO on the core's trainer, guards every iteration), then
# base vs trained on the held-out labelled set with bootstrap CIs, a table and plots. Settings: self_knowledge
# (+ grpo for LoRA, optimizer and precision); profiles selfknow_smoke (CPU) and selfknow_gpu (the original's).

include: "self_knowledge_common.smk"


rule run_selfknow:
    input:
        unpack(lambda wildcards: get_selfknow_inputs()),
    output:
        summary="results/self_knowledge/run/summary.json",
        sums="results/self_knowledge/run/SHA256SUMS",
    log:
        "logs/self_knowledge/run.log",
    benchmark:
        "benchmarks/self_knowledge/run.tsv"
    params:
        settings=get_stage_config("selfknow"),
        out=subpath(output.summary, parent=True),
    resources:
        gpu=get_train_gpu("grpo"),
        mem_mb=get_train_mem_mb("grpo", cpu_mb=8000, gpu_mb=96000),
        runtime=2880 if get_train_gpu("grpo") else 120,
    conda:
        "../../envs/train.yaml"
    container:
        get_container("train")
    shell:
        "knowrl selfknow run --out {params.out} --resume {params.settings} > {log} 2>&1"


rule eval_selfknow:
    input:
        unpack(lambda wildcards: get_selfknow_inputs()),
        run="results/self_knowledge/run/SHA256SUMS",
    output:
        table="results/self_knowledge/eval/table.md",
        bars="results/self_knowledge/eval/heldout.png",
        summary="results/self_knowledge/eval/summary.json",
    log:
        "logs/self_knowledge/eval.log",
    benchmark:
        "benchmarks/self_knowledge/eval.tsv"
    params:
        settings=get_stage_config("selfknow"),
        run=subpath(input.run, parent=True),
        out=subpath(output.table, parent=True),
    resources:
        gpu=get_train_gpu("grpo"),
        mem_mb=get_train_mem_mb("grpo", cpu_mb=4000, gpu_mb=48000),
        runtime=240 if get_train_gpu("grpo") else 60,
    conda:
        "../../envs/eval.yaml"
    container:
        get_container("eval")
    shell:
        "knowrl selfknow eval --run {params.run} --out {params.out} {params.settings} > {log} 2>&1"
