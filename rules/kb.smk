rule build_kb:
    input:
        unpack(get_kb_inputs),
    output:
        "results/kb/manifest.json",
    log:
        "logs/kb/build_kb.log",
    benchmark:
        "benchmarks/kb/build_kb.tsv"
    params:
        out=lambda wildcards, output: Path(output[0]).parent,
        corpus=get_kb_corpus(),
        flags=get_kb_build_flags(),
    threads: max(2, lookup(dpath="kb/dump/processes", within=config))
    resources:
        gpu=1 if config["kb"]["device"].startswith("cuda") else 0,  # encoding on CUDA (a800): a GPU job on SLURM
        mem_mb=lambda wildcards: config["kb"]["index"]["memory_budget_mb"] + 3000,
        runtime=720,
    conda:
        "../envs/kb.yaml"
    container:
        get_container("kb")
    shell:
        "knowrl kb build --input {params.corpus} --out {params.out} --force --no-progress {params.flags} > {log} 2>&1"
