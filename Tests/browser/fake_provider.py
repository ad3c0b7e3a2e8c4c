"""A tiny OpenAI-compatible provider for the browser test: model list and streamed chat completions.

A prompt that contains "slow" streams 60 chunks over about 9 seconds (time to press stop or reload); one that contains
"numbered" answers "Answer number N." with N counting up, so regenerated versions differ; anything else streams a
Markdown answer with a table, a formula and a code block in a few chunks.
"""
import itertools
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = (
    "## Result\n\n"
    "Here is a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
    "Euler: $e^{i\\pi} + 1 = 0$\n\n"
    "```python\ndef greet(name):\n    return f\"hello {name}\"\n```\n\n"
    "Done."
)
NUMBERS = itertools.count(1)
NUMBERS_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, payload, status=200):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.rstrip("/").endswith("/models"):
            self.send_json({"object": "list", "data": [{"id": "fake-model", "object": "model"}, {"id": "fake-vision", "object": "model"}]})
        else:
            self.send_json({"error": "not found"}, 404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.endswith("/chat/completions"):
            return self.send_json({"error": "not found"}, 404)
        last = request.get("messages", [{}])[-1].get("content", "")
        if isinstance(last, list):
            last = " ".join(part.get("text", "") for part in last if isinstance(part, dict))
        slow = "slow" in last
        answer = ANSWER
        if "numbered" in last:
            with NUMBERS_LOCK:
                answer = f"Answer number {next(NUMBERS)}."
        if not request.get("stream"):
            return self.send_json({"choices": [{"message": {"role": "assistant", "content": answer}}],
                                   "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        if slow:
            pieces = [f"word{i} " for i in range(60)] + ["END"]
            delay = 0.15
        else:
            pieces = [answer[i:i + 25] for i in range(0, len(answer), 25)]
            delay = 0.03
        try:
            for piece in pieces:
                chunk = {"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": piece}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                time.sleep(delay)
            usage = {"id": "c1", "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": len(pieces), "total_tokens": 12 + len(pieces)}}
            self.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


def serve(port):
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


if __name__ == "__main__":
    serve(int(sys.argv[1])).serve_forever()
