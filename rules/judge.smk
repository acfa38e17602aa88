# Judge servers for the jobs that need one (grading answers, atomic facts, LLM verification).
#
# Pattern: a job that needs a model judge runs its command under `knowrl judge run -- CMD`. That starts the
# configured server (llama.cpp on CPU, vLLM on GPU) on a free 127.0.0.1 port, waits until it is ready, exports
# KNOWRL_JUDGE_URL to CMD (every knowrl judge client inside reuses it instead of starting its own) and stops the
# whole process group when CMD ends, whether it succeeds, fails or is killed. With judge.backend=rule nothing is
# started and CMD just runs.
# Why not a Snakemake `service` rule: service jobs only work inside a job group placed on one node, and a server
# job that outlives or precedes its consumers makes failures and cluster placement fragile. One job = one server
# lifetime works the same with the local and SLURM executors. To share one long-lived server between many jobs
# (e.g. a vLLM judge on its own GPU node), start `knowrl judge serve` yourself and set judge.base_url: jobs then
# reuse it and `knowrl judge run` starts nothing (the client reuses judge.base_url / KNOWRL_JUDGE_URL).
# The global resource `judge_server` (set it in a profile, e.g. `resources: [judge_server=1]`) caps how many
# servers run at once on a machine. Every command gets the resolved judge section (model, URL, server settings)
# through its stage config file, never just the backend's name; the environment holds that backend's server.

JUDGE_ROLE = get_judge_role()


rule grade_answers:
    input:
        "results/judge/{name}.items.jsonl",
    output:
        "results/judge/{name}.graded.jsonl",
    log:
        "logs/judge/grade_{name}.log",
    benchmark:
        "benchmarks/judge/grade_{name}.tsv"
    params:
        settings=get_stage_config("judge"),
    resources:
        judge_server=1,
        gpu=1 if uses_gpu_judge() else 0,
        mem_mb=4000,
        runtime=120,
    conda:
        f"../envs/{JUDGE_ROLE}.yaml"
    container:
        get_container(JUDGE_ROLE)
    shell:
        "knowrl judge run {params.settings} -- knowrl judge grade {params.settings} --input {input} "
        "--output {output} --stats {output}.stats.json > {log} 2>&1"


rule judge_agreement:
    input:
        "results/judge/{name}.items.jsonl",
    output:
        "results/judge/{name}.agreement.json",
    log:
        "logs/judge/agreement_{name}.log",
    params:
        backend=lookup(dpath="judge/backend", within=config),
        settings=get_stage_config("judge"),
    resources:
        judge_server=1,
        gpu=1 if uses_gpu_judge() else 0,
        mem_mb=4000,
        runtime=120,
    conda:
        f"../envs/{JUDGE_ROLE}.yaml"
    container:
        get_container(JUDGE_ROLE)
    shell:
        "knowrl judge run {params.settings} -- knowrl judge agree --a rule --b {params.backend} "
        "{params.settings} --input {input} --output {output} > {log} 2>&1"


# Only for server backends (llamacpp, vllm): records the exact command a job would start.
rule judge_server_command:
    output:
        "results/judge/server_command.txt",
    log:
        "logs/judge/server_command.log",
    params:
        settings=get_stage_config("judge"),
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        f"../envs/{JUDGE_ROLE}.yaml"
    container:
        get_container(JUDGE_ROLE)
    shell:
        "knowrl judge command {params.settings} > {output} 2> {log}"
