# Evaluation (METHOD 8): one job per (model label, benchmark). Labels come from eval.models (base, sft, knowrl);
# benchmarks are the eval.benchmarks entries with a path. Model judges (judge.backend llamacpp/vllm) are started
# for the job by `knowrl judge run`; with the rule judge nothing is started.


rule eval_benchmark:
    input:
        unpack(get_eval_inputs),
    output:
        summary="results/eval/{label}/{benchmark}/summary.json",
        records="results/eval/{label}/{benchmark}/items.jsonl",
    log:
        "logs/eval/{label}/{benchmark}.log",
    benchmark:
        "benchmarks/eval/{label}/{benchmark}.tsv"
    wildcard_constraints:
        label="|".join(get_eval_models()),
        benchmark="simpleqa|chinese_simpleqa|truthfulqa|gpqa|aime25|qa",
    params:
        weights=get_eval_weights_flags,
        settings=get_stage_config("eval"),
        out=subpath(output.summary, parent=True),
    resources:
        judge_server=1,
        gpu=1 if config["eval"]["device"].startswith("cuda") or uses_gpu_judge() else 0,
        mem_mb=16000,
        runtime=240,
    conda:
        f"../envs/{get_eval_role()}.yaml"  # holds the judge server `knowrl judge run` starts
    container:
        get_container(get_eval_role())
    shell:
        "knowrl judge run {params.settings} -- knowrl eval run --benchmark {wildcards.benchmark} "
        "--data {input.data} --label {wildcards.label} {params.weights} {params.settings} "
        "--out {params.out} > {log} 2>&1"
