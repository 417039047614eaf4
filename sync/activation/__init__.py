"""Activation by support: one module per job.

- `connection`: Test connection (verify the keys live, learn the account id, Draft → Ready);
- `matching`: which ERP SKU each channel listing is (by SKU code, then EAN);
- `checks`: the preflight checks, one function each, writing nothing;
- `preflight`: every vendor call and every check → a `PreflightReport`;
- `report`: the CSV of everything that matched nothing;
- `activate`: the activation transaction (bindings through `mappings.services`) and the
  deactivation;
- `admin`: the pages, buttons and actions on the sales channel screen.
"""
