/* A small C program for WASI: count the lines, words and bytes of its standard input, like wc,
 * and name the longest word.  Built with zig's clang (see build.sh); run with
 *
 *     printf 'the quick brown fox\njumps over the lazy dog\n' | wasmbox run examples/wasi_c/wordcount.wasm
 *     wasmbox trace --func count examples/wasi_c/wordcount.wasm < some.txt
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

struct counts {
    long lines, words, bytes;
    char longest[64];
};

/* Count one buffer of text, carrying "inside a word" across calls (kept a function of its own, so
 * that traces and the explorer show it by name). */
__attribute__((noinline)) static int count(struct counts *c, const char *text, size_t length, int in_word, char *word, size_t *word_length) {
    for (size_t i = 0; i < length; i++) {
        unsigned char ch = (unsigned char)text[i];
        c->bytes++;
        if (ch == '\n') c->lines++;
        if (isspace(ch)) {
            if (in_word && *word_length > strlen(c->longest)) {
                word[*word_length] = '\0';
                strcpy(c->longest, word);
            }
            in_word = 0;
            *word_length = 0;
        } else {
            if (!in_word) c->words++;
            in_word = 1;
            if (*word_length < sizeof c->longest - 1) word[(*word_length)++] = (char)ch;
        }
    }
    return in_word;
}

int main(void) {
    struct counts c = {0, 0, 0, ""};
    char buffer[4096], word[64];
    size_t word_length = 0, got;
    int in_word = 0;
    while ((got = fread(buffer, 1, sizeof buffer, stdin)) > 0)
        in_word = count(&c, buffer, got, in_word, word, &word_length);
    if (in_word && word_length > strlen(c.longest)) {
        word[word_length] = '\0';
        strcpy(c.longest, word);
    }
    printf("%ld lines, %ld words, %ld bytes; longest word: %s\n", c.lines, c.words, c.bytes, c.longest);
    return 0;
}
