"""How ``jetkube get`` prints objects: kubectl's tables, yaml/json, name, jsonpath, go-template and
custom-columns. Pure: each printer turns objects into text; the commands echo it."""
