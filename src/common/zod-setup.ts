// windtunnel's schemas use zod/mini: the same zod 4 core (issues, errors, JSON Schema) without
// the ~50 methods the classic API binds onto every schema instance, which made building our
// schemas at start-up cost more than anything a short `gate` run then does with them.
// Settings, applied once before any schema parses:
// - the English messages ("expected number, received string"), which mini does not load itself;
// - no JIT: zod compiles object schemas on first use, which pays off over millions of parses, but
//   a CLI run parses a policy and a few hundred rows (the one hot path, metrics lines, does not go
//   through zod at all: see formats/metrics.ts).
import { config } from "zod/mini";
import { en } from "zod/locales";

config(en());
config({ jitless: true });
