/* The demo's event printer (examples-c/demo_print.c): one readable line per event, and a
 * progress bar for uploads and downloads redrawn in place with \r. */
#ifndef WXNET_DEMO_PRINT_H
#define WXNET_DEMO_PRINT_H

#include "common.h"

/* Prints `ev`, an event of a task of `api`. Called on the app's dispatcher thread. */
void demo_print_event(ex_api api, const wxnet_event *ev);
/* Prints a line of commentary from inside a callback (ending a progress bar first). */
void demo_note(const char *text);

#endif
