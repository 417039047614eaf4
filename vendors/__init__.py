"""The vendor layer: one package per vendor (its `spec` and its `adapter`), the value types
that cross the seam (`types`), the HTTP seam (`http`, `errors`, `ratelimit`), the data policy
(`parsing`) and the registry. Imports no Django model: it sits below `channels`."""
