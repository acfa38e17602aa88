# Tables and plots from the evaluation runs (and the GRPO training log): Markdown/CSV/LaTeX + PNG, each folder
# with provenance.json and SHA256SUMS.


rule eval_tables:
    input:
        get_eval_summaries(),
        # written into results/tables first, so that the folder's SHA256SUMS (written last, here) lists them too
        examples=[path for path in get_report_outputs() if Path(path).name.startswith("examples_")],
    output:
        md=report("results/tables/results.md", category="1. The effect", caption="../docs/report/tables.rst"),
        csv="results/tables/results.csv",
        tex="results/tables/results.tex",
    log:
        "logs/report/tables.log",
    params:
        runs=get_eval_run_flags(),
        paper=get_paper_model_flag(),
        settings=get_stage_config("tables"),  # the tables name the kind of run and any demo inputs
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/eval.yaml"
    container:
        get_container("eval")
    shell:
        "knowrl eval table {params.runs} {params.paper} {params.settings} --out results/tables > {log} 2>&1"


rule plot_benchmarks:
    input:
        get_eval_summaries(),
    output:
        report("results/plots/benchmarks/benchmarks_main.png", category="1. The effect",
               caption="../docs/report/benchmarks.rst"),
    log:
        "logs/report/plot_benchmarks.log",
    params:
        runs=get_eval_run_flags(),
        paper=get_paper_model_flag(),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/eval.yaml"
    container:
        get_container("eval")
    shell:
        "knowrl eval plot {params.runs} {params.paper} --out results/plots/benchmarks > {log} 2>&1"


rule plot_training:
    input:
        "results/grpo/SHA256SUMS",  # the sealed GRPO run; its metrics.jsonl is listed in it
    output:
        report("results/plots/training/training_curves.png", category="1. The effect",
               caption="../docs/report/training.rst"),
    log:
        "logs/report/plot_training.log",
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/eval.yaml"
    container:
        get_container("eval")
    shell:
        "knowrl eval plot --metrics results/grpo/metrics.jsonl --out results/plots/training > {log} 2>&1"


rule eval_examples:
    input:
        before="results/eval/sft/{benchmark}/summary.json",
        after="results/eval/knowrl/{benchmark}/summary.json",
    output:
        report("results/tables/examples_{benchmark}.md", category="1. The effect",
               caption="../docs/report/examples.rst"),
    log:
        "logs/report/examples_{benchmark}.log",
    params:
        before=subpath(input.before, parent=True),
        after=subpath(input.after, parent=True),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/eval.yaml"
    container:
        get_container("eval")
    shell:
        "knowrl eval examples --before sft={params.before} --after knowrl={params.after} --out {output} > {log} 2>&1"
