"""The resource ``tally`` of the guest's exported interface ``analyzer`` (componentize-py finds an exported
interface's resources in a module named after the interface)."""

# ruff: noqa
# mypy: ignore-errors
from wit_world import exports
from wit_world.exports import analyzer as types
from wit_world.imports import logger

import app


class Tally(exports.analyzer.Tally):
    def __init__(self, mode):
        self.folded = mode == types.CaseMode.FOLDED
        self.counts = {}
        self.words = 0
        self.lines = 0
        self.longest = None

    def add(self, text):
        words = [token.value for token in app.tokenize(text) if isinstance(token, types.Token_Word)]
        for word in words:
            key = word.lower() if self.folded else word
            self.counts[key] = self.counts.get(key, 0) + 1
            if self.longest is None or len(word) > len(self.longest):
                self.longest = word
        self.words += len(words)
        self.lines += len(text.splitlines())
        logger.log(logger.Level.DEBUG, f"added {len(words)} words, {len(self.counts)} distinct so far")
        return len(words)

    def count(self, word):
        return self.counts.get(word.lower() if self.folded else word)

    def summary(self, top):
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))[:top]
        return types.Summary(
            words=self.words,
            lines=self.lines,
            distinct=len(self.counts),
            longest=self.longest,
            top=[types.WordCount(word=word, count=count) for word, count in ranked],
        )
