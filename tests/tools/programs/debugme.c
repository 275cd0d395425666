/* A small C program for the debugger tests: a call in a loop, a string in
   memory, a global counter. */
#include <stdio.h>
#include <string.h>

int calls;

__attribute__((noinline)) int scale(int value, int factor) {
  calls++;
  return value * factor + 1;
}

int main(void) {
  char message[16];
  strcpy(message, "hello, wdb");
  int total = 0;
  for (int i = 1; i <= 3; i++) total += scale(i, 10);
  printf("%s %d %d\n", message, total, calls);
  return 0;
}
