# Knowledgeable GRPO (METHOD 4): LoRA on top of the SFT model (the KL reference), rewards from the judge, the KB
# and the verifier. A model judge (judge.backend llamacpp/vllm) is started for the job by `knowrl judge run`;
# with the rule judge nothing is started. Outputs sealed with SHA256SUMS + provenance.json; a killed job resumes
# (--resume if-unchanged: a run under other settings or inputs is moved to <out>.superseded/ instead).
# Several GPUs: train.processes ranks under `accelerate launch` (as train_sft). vLLM in server mode
# (grpo.generation.vllm_mode=server, no vllm_server_url): the job also asks for the server's GPUs
# (grpo.generation.vllm_server.tensor_parallel_size) and `knowrl train grpo` starts `trl vllm-serve` on them, waits
# for its /health, trains on the others and stops the server when the job ends.


rule train_grpo:
    input:
        unpack(lambda wildcards: get_judge_inputs()),
        data=get_grpo_data(),
        sft=f"{get_grpo_init()}/SHA256SUMS",
        kb=get_grpo_kb(),
    output:
        sums="results/grpo/SHA256SUMS",
        summary="results/grpo/summary.json",
    log:
        "logs/grpo/train.log",
    benchmark:
        "benchmarks/grpo/train.tsv"
    params:
        settings=get_stage_config("grpo"),
        init=subpath(input.sft, parent=True),
        out=subpath(output.sums, parent=True),
    threads: lookup(dpath="train/processes", within=config)
    resources:
        gpu=get_train_gpu("grpo"),
        judge_server=1,
        mem_mb=get_train_mem_mb("grpo", cpu_mb=12000, gpu_mb=96000),
        runtime=1440 if get_train_gpu("grpo") else 120,
    conda:
        f"../envs/{get_train_role('grpo')}.yaml"
    container:
        get_container(get_train_role("grpo"))
    shell:
        "knowrl judge run {params.settings} -- knowrl train grpo --data {input.data} --init {params.init} "
        "--out {params.out} --resume if-unchanged {params.settings} > {log} 2>&1"


# GRPO ablations (grpo.ablations: name -> settings for that run only, e.g. the paper's abstain -1 ablation): the
# same start policy, data and KB as train_grpo, one sealed run each in results/ablations/<name>, evaluated beside
# KnowRL. Adding or changing one re-runs only that run and its evaluations.
rule train_grpo_ablation:
    input:
        unpack(lambda wildcards: get_judge_inputs()),
        data=get_grpo_data(),
        sft=f"{get_grpo_init()}/SHA256SUMS",
        kb=get_grpo_kb(),
    output:
        sums="results/ablations/{ablation}/SHA256SUMS",
        summary="results/ablations/{ablation}/summary.json",
    log:
        "logs/ablations/{ablation}.log",
    benchmark:
        "benchmarks/ablations/{ablation}.tsv"
    wildcard_constraints:
        ablation="|".join(config["grpo"]["ablations"]) or "(?!)",
    params:
        settings=lambda wildcards: get_stage_config("grpo", config["grpo"]["ablations"][wildcards.ablation]),
        init=subpath(input.sft, parent=True),
        out=subpath(output.sums, parent=True),
    threads: lookup(dpath="train/processes", within=config)
    resources:
        gpu=get_train_gpu("grpo"),
        judge_server=1,
        mem_mb=get_train_mem_mb("grpo", cpu_mb=12000, gpu_mb=96000),
        runtime=1440 if get_train_gpu("grpo") else 120,
    conda:
        f"../envs/{get_train_role('grpo')}.yaml"
    container:
        get_container(get_train_role("grpo"))
    shell:
        "knowrl judge run {params.settings} -- knowrl train grpo --data {input.data} --init {params.init} "
        "--out {params.out} --resume if-unchanged {params.settings} > {log} 2>&1"
