// `annexml serve`'s options and their defaults: apart from the server, so
// the command line defines `annexml serve` without loading fastify.
import type { ModelPredictOptions } from "@annexml/model";

/** Options of `startServer` (server.ts); see {@link DEFAULT_SERVE_OPTIONS}. */
export interface ServeOptions {
  /** Address to listen on (default 127.0.0.1: this machine only). */
  host: string;
  /** TCP port; 0 takes any free one (see `PredictServer.url`). */
  port: number;
  /** Worker threads for batches (1: batches run in the main thread too). */
  threads: number;
  /** Prediction options (no `k`: that is per request). */
  predict: Omit<ModelPredictOptions, "k">;
  /** Labels per row when a request gives no `k`. */
  defaultK: number;
  /** Largest `k` a request may ask for. */
  maxK: number;
  /** Largest request body in bytes (larger: 413). */
  bodyLimit: number;
  /** `POST /predict` requests at once, from their first byte to their answer (more: 503). */
  maxQueue: number;
  /** Milliseconds `PredictServer.close` waits for requests in flight before cutting their connections. */
  shutdownTimeout: number;
}

export const DEFAULT_SERVE_OPTIONS: Readonly<ServeOptions> = Object.freeze({
  host: "127.0.0.1",
  port: 8080,
  threads: 1,
  predict: {},
  defaultK: 10,
  maxK: 100,
  bodyLimit: 1 << 20,
  maxQueue: 64,
  shutdownTimeout: 10_000,
});
