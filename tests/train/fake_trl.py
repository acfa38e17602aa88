"""Stand-in for ``trl vllm-serve`` (vLLM cannot be installed on CPU machines): same command shape, answers
``/health`` like vLLM's server. Environment knobs: FAKE_TRL_RECORD (write {argv, CUDA_VISIBLE_DEVICES, pid} as
JSON there), FAKE_TRL_READY_AFTER (answer /health with 503 this many times first), FAKE_TRL_CRASH (print a
CUDA-style error and exit 1 at start-up)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POLLS = {"health": 0}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt: str, *args: object) -> None:
        print(fmt % args, flush=True)

    def do_GET(self) -> None:
        if self.path != "/health":
            self.send_response(404)
            self.end_headers()
            return
        POLLS["health"] += 1
        ready = POLLS["health"] > int(os.environ.get("FAKE_TRL_READY_AFTER", "0"))
        self.send_response(200 if ready else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="trl")
    verbs = parser.add_subparsers(dest="verb", required=True)
    serve = verbs.add_parser("vllm-serve")
    serve.add_argument("--model", required=True)
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--tensor_parallel_size", type=int, default=1)
    serve.add_argument("--gpu_memory_utilization", type=float, default=0.9)
    serve.add_argument("--max_model_len", type=int)
    args, extra = parser.parse_known_args(argv)
    if os.environ.get("FAKE_TRL_RECORD"):
        with open(os.environ["FAKE_TRL_RECORD"], "w") as fh:
            json.dump({"argv": argv, "extra": extra, "pid": os.getpid(),
                       "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES")}, fh)
    if os.environ.get("FAKE_TRL_CRASH"):
        print("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", flush=True)
        return 1
    print(f"serving {args.model} on {args.host}:{args.port} (tp {args.tensor_parallel_size})", flush=True)
    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
