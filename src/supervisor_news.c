/* supervisor_news: the queue of changes to tell (STYLE rule 12). A change is
 * recorded here, inside the transition; supervisor.c's idle handle `tell` tells it
 * from the loop. Below the rest of the supervisor: it calls none of it. */
#include "supervisor_int.h"

#include <stdlib.h>

/* Queues the news that p went from old to its state now (STYLE rule 12: it is told
 * from the loop, never from inside the transition). Out of memory, the news is
 * lost but not the change: observers read states, and the next news tells them.
 * What depends on p will be judged again (supervisor_deps). */
void supervisor_news_add(struct proc *p, enum proc_state old)
{
    struct supervisor *s = p->sup;
    supervisor_deps_changed(s, p);
    if (s->nnews == s->capnews) {
        int cap = s->capnews ? 2 * s->capnews : 16;
        struct news *more = realloc(s->news, sizeof(*more) * (size_t)cap);
        if (!more)
            return;
        s->news = more;
        s->capnews = cap;
    }
    s->news[s->nnews++] = (struct news){p, old};
    p->queued++;
    uv_idle_start(&s->tell, s->tell_cb);
}

void supervisor_tell(struct proc *p)
{
    supervisor_news_add(p, p->state);
}
