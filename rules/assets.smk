rule fetch_asset:
    output:
        asset_manifest("{asset}"),
    log:
        "logs/assets/fetch_{asset}.log",
    params:
        cache=lambda wildcards, output: Path(output[0]).parent.parent,
        from_flag=get_from_dir_flag(),
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        "../envs/kb.yaml"
    container:
        get_container("kb")
    shell:
        "knowrl assets fetch {wildcards.asset} --cache {params.cache} {params.from_flag} --force > {log} 2>&1"
