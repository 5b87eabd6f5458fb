"""The page quota (spec/fax.md): pages per UTC day; over it, jobs are held at -22.

Pure: time is passed in as Unix seconds. A held job is released as soon as it fits (the quota
was raised, or a new UTC day began) and ends at 205000 when it has been held for `hold_s`
(24 h by default). pages_per_day = 0 means no quota. Pages are charged when the modem
confirms them, so a failed call does not spend the quota.

What decide() returns is one of three interned strs, "send", "hold", "expire" (held: -22,
expired: 205000, spec/fax.md: core/fax/jobtab.py ROWS): no module names for them (each name
is a slot of the module's table when frozen).
"""


class Quota:
    def __init__(self, pages_per_day=0, hold_s=86400, day=None, used=0):
        self.limit = pages_per_day
        self.hold_s = hold_s
        self.day = day
        self.used = used

    def remaining(self, now):
        """Pages still allowed today, or None if there is no quota."""
        if not self.limit:
            return None
        self.charge(0, now)     # a new UTC day: nothing used yet
        return max(0, self.limit - self.used)

    def decide(self, pages, held_since, now):
        """"send", "hold" or "expire" for a job of `pages` pages, held since `held_since` (or None)."""
        left = self.remaining(now)
        if left is None or pages <= left:
            return "send"
        if held_since is not None and now - held_since >= self.hold_s:
            return "expire"
        return "hold"

    def charge(self, pages, now):
        """Count `pages` confirmed pages against today's quota."""
        d = int(now // 86400)     # the UTC day
        if self.day != d:
            self.day = d
            self.used = 0
        self.used += pages

    # a new limit is set on the attributes (limit, hold_s); [day, used] is what the unit
    # persists (app/unit.py save_state) and gives back to restore()

    def restore(self, st):
        if isinstance(st, list) and len(st) == 2:
            self.day, self.used = st[0], st[1]
