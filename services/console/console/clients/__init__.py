"""One client per upstream API (the console's repository role): the scheduler, attendance and billing."""
