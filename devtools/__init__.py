"""The `corestore` command (the composition root) and the tools around the service: a small
client, front ends as processes, and the demo. It sits above every layer, beside `bench`."""
