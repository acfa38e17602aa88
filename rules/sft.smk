# Cold-start SFT (METHOD 5): LoRA on the cold-start traces; results/sft holds adapter/, merged/ (the GRPO start),
# checkpoints and metrics, each sealed with SHA256SUMS + provenance.json. A killed job resumes from its latest
# checkpoint (--resume if-unchanged; a run written under other settings or inputs is moved to results/sft.superseded/
# and training starts afresh).
# Several GPUs: train.processes > 1 makes the job ask for that many GPUs, and `knowrl train sft` launches itself
# through `accelerate launch` (config/accelerate/<train.strategy>.yaml) on them; under SLURM the job already runs
# as an `srun` step holding those GPUs (the slurm-jobstep executor), so the ranks start inside the allocation.


rule make_demo_data:
    input:
        unpack(get_demo_inputs),
    output:
        coldstart="results/data/demo/coldstart.json",
        rl="results/data/demo/rl.json",
        heldout="results/data/demo/heldout.json",
        corpus="results/data/demo/corpus.jsonl",
        manifest="results/data/demo/manifest.json",
    log:
        "logs/data/demo.log",
    params:
        corpus=f"{ASSETS}/demo_corpus/summaries_en-us.json",
        settings=get_stage_config("demo"),
        probe_table=get_probe_table_flag(),
        out=subpath(output.manifest, parent=True),
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/train.yaml"
    container:
        get_container("train")
    shell:
        "knowrl data demo --corpus {params.corpus} --out {params.out} {params.probe_table} {params.settings} "
        "> {log} 2>&1"


rule train_sft:
    input:
        data=get_sft_data(),
        policy=get_policy_input(),
    output:
        sums="results/sft/SHA256SUMS",
        summary="results/sft/summary.json",
    log:
        "logs/sft/train.log",
    benchmark:
        "benchmarks/sft/train.tsv"
    params:
        settings=get_stage_config("sft"),
        out=subpath(output.sums, parent=True),
    threads: lookup(dpath="train/processes", within=config)
    resources:
        gpu=get_train_gpu("sft"),
        mem_mb=get_train_mem_mb("sft", cpu_mb=8000, gpu_mb=64000),
        runtime=720 if get_train_gpu("sft") else 60,
    conda:
        f"../envs/{get_train_role('sft')}.yaml"
    container:
        get_container(get_train_role("sft"))
    shell:
        "knowrl train sft --data {input.data} --out {params.out} --resume if-unchanged {params.settings} "
        "> {log} 2>&1"
