"""The fake provider of the browser test.

A prompt that contains "slow" streams 60 chunks over about 9 seconds (time to press stop or reload); one that contains
"numbered" answers "Answer number N." with N counting up, so regenerated versions differ; one that contains
"pathological" answers formulas built to exhaust KaTeX (see HOSTILE_MATH); anything else streams a Markdown answer with
a table, a formula and a code block in a few chunks.
"""
import itertools
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))
import fake_openai  # noqa: E402

ANSWER = (
    "## Result\n\n"
    "Here is a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
    "Euler: $e^{i\\pi} + 1 = 0$\n\n"
    "```python\ndef greet(name):\n    return f\"hello {name}\"\n```\n\n"
    "Done."
)
# A self-doubling macro, a chain of \edef each ten times the one before (100,000 letters: KaTeX before 0.16.10 did not
# count these expansions against maxExpand and froze the page for seconds), and a formula over the frontend's length cap.
EDEF_CHAIN = "\\edef\\a{x}" + "".join("\\edef\\" + new + "{" + ("\\" + old) * 10 + "}" for old, new in zip("abcde", "bcdef")) + "\\f"
HOSTILE_MATH = (
    "Bomb: $\\def\\a{\\a\\a}\\a$\n\n"
    f"$${EDEF_CHAIN}$$\n\n"
    f"$${'x+' * 1100}x$$\n\n"
    "Done."
)
NUMBERS = itertools.count(1)
NUMBERS_LOCK = threading.Lock()


class Handler(fake_openai.FakeOpenAIHandler):
    models = ["fake-model", "fake-vision"]

    def answer(self, request):
        last = request.get("messages", [{}])[-1].get("content", "")
        if isinstance(last, list):
            last = " ".join(part.get("text", "") for part in last if isinstance(part, dict))
        if "slow" in last:
            pieces = [f"word{i} " for i in range(60)] + ["END"]
            return "".join(pieces), pieces, 0.15
        text = ANSWER
        if "pathological" in last:
            return HOSTILE_MATH, [HOSTILE_MATH[i:i + 200] for i in range(0, len(HOSTILE_MATH), 200)], 0.03
        if "numbered" in last:
            with NUMBERS_LOCK:
                text = f"Answer number {next(NUMBERS)}."
        return text, [text[i:i + 25] for i in range(0, len(text), 25)], 0.03


def serve(port):
    return fake_openai.serve(Handler, port=port)


if __name__ == "__main__":
    serve(int(sys.argv[1])).serve_forever()
