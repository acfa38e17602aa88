# Tables and plots from the evaluation runs (and the GRPO training log): Markdown/CSV/LaTeX + PNG, each folder
# with provenance.json and SHA256SUMS.


rule eval_tables:
    input:
        get_eval_summaries(),
    output:
        md=report("results/tables/results.md", category="Tables", caption="../docs/report/tables.rst"),
        csv="results/tables/results.csv",
        tex="results/tables/results.tex",
    log:
        "logs/report/tables.log",
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
        "knowrl eval table {params.runs} {params.paper} --out results/tables > {log} 2>&1"


rule plot_benchmarks:
    input:
        get_eval_summaries(),
    output:
        report("results/plots/benchmarks/benchmarks_main.png", category="Benchmarks",
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
        report("results/plots/training/training_curves.png", category="Training",
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
