"""Activation by support: one module per job.

- `connection`: Test connection (verify the keys live, learn the account id, Draft → Ready);
- `matching`: which ERP SKU each channel listing is (by SKU code, then EAN);
- `checks`: the preflight checks, one function each, writing nothing;
- `preflight`: every vendor call and every check → a `PreflightReport`;
- `runs`: the preflight as a durable PreflightRun — queued by the page, run by a worker
  (`sync.tasks.run_preflight`), its progress and stored result read back by the page;
- `report`: the CSV of everything that matched nothing (stored with the run);
- `activate`: the activation against a stored result (database facts re-checked in its
  transaction, bindings through `mappings.services`) and the deactivation;
- `admin`: the pages (the confirmation page and its status poll), buttons and actions on the
  sales channel screen.
"""
