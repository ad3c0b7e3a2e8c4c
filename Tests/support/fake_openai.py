"""An OpenAI-compatible fake provider for the browser and container tests: a model list, whole answers and
streamed answers (`data:` chunks, a usage chunk, `[DONE]`). Each test subclasses the handler to choose its models,
its answers and whether an API key is required."""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAIHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    models = ["fake-model"]
    # When set, chat requests must carry `Authorization: Bearer <api_key>`.
    api_key = None
    log_requests = False

    def answer(self, request):
        """The answer to a chat request: (full text, pieces to stream, seconds between pieces)."""
        raise NotImplementedError

    def log_message(self, format, *args):
        if self.log_requests:
            sys.stderr.write("%s %s\n" % (self.command, self.path))

    def send_json(self, payload, status=200):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.rstrip("/").endswith("/models"):
            self.send_json({"object": "list", "data": [{"id": model, "object": "model"} for model in self.models]})
        else:
            self.send_json({"error": "not found"}, 404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.endswith("/chat/completions"):
            return self.send_json({"error": "not found"}, 404)
        if self.api_key is not None and self.headers.get("Authorization", "") != f"Bearer {self.api_key}":
            return self.send_json({"error": {"message": "wrong API key"}}, 401)
        text, pieces, delay = self.answer(request)
        if not request.get("stream"):
            return self.send_json({"choices": [{"message": {"role": "assistant", "content": text}}],
                                   "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for piece in pieces:
                chunk = {"id": "c1", "object": "chat.completion.chunk", "model": request.get("model", ""),
                         "choices": [{"index": 0, "delta": {"content": piece}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                time.sleep(delay)
            usage = {"id": "c1", "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": len(pieces),
                                                          "total_tokens": 12 + len(pieces)}}
            self.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


def serve(handler, host="127.0.0.1", port=0):
    """A threaded server for `handler` (not started: call `serve_forever`)."""
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
