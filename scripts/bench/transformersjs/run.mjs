// One timed greedy caption with transformers.js (onnxruntime-node), offline, on a local model folder.
// The transformers.js contender of scripts/bench.sh; prints one JSON line with the same keys as the
// other contenders (see scripts/bench/report.py).
//
//   node run.mjs MODEL_DIR IMAGE TASK MAX_NEW_TOKENS THREADS PRECISION
//
// Stage times come from wrapping each ONNX Runtime session's `run`: vision_encoder, embed_tokens,
// the text encoder (`model`) and decoder_model_merged. Embedding calls made for the decoder during
// generation count as decode time; the prompt's embedding counts with the text encoder.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { env, AutoProcessor, Florence2ForConditionalGeneration, RawImage } from '@huggingface/transformers';

const [modelDir, imagePath, task, maxNewTokens, threads, precision] = process.argv.slice(2);
if (!precision) {
  console.error('usage: node run.mjs MODEL_DIR IMAGE TASK MAX_NEW_TOKENS THREADS PRECISION');
  process.exit(2);
}
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.dirname(path.resolve(modelDir)) + path.sep;
const modelId = path.basename(path.resolve(modelDir));
const tokens = Number(maxNewTokens);

const t0 = performance.now();
const model = await Florence2ForConditionalGeneration.from_pretrained(modelId, {
  dtype: precision,
  device: 'cpu',
  session_options: { intraOpNumThreads: Number(threads), interOpNumThreads: 1 },
});
const processor = await AutoProcessor.from_pretrained(modelId);
const loadMs = performance.now() - t0;

// Time spent in each session; `phase` tells prompt embedding from decoder-step embedding.
const spent = { vision: 0, prompt: 0, encoder: 0, decoder: 0, decoderEmbed: 0 };
let phase = 'prompt';
let decoderCalls = 0;
const wrap = (name, onTime) => {
  const session = model.sessions[name];
  if (!session) throw new Error(`transformers.js has no session ${name}: ${Object.keys(model.sessions)}`);
  const run = session.run.bind(session);
  session.run = async (...args) => {
    const s = performance.now();
    const out = await run(...args);
    onTime(performance.now() - s);
    return out;
  };
};
wrap('vision_encoder', (ms) => (spent.vision += ms));
wrap('embed_tokens', (ms) => (phase === 'prompt' ? (spent.prompt += ms) : (spent.decoderEmbed += ms)));
wrap('model', (ms) => { spent.encoder += ms; phase = 'decode'; });
wrap('decoder_model_merged', (ms) => { spent.decoder += ms; decoderCalls += 1; });

const t1 = performance.now();
const image = await RawImage.read(imagePath);
const prompts = processor.construct_prompts(task);
const inputs = await processor(image, prompts);
const preprocessMs = performance.now() - t1;
const t2 = performance.now();
const generated = await model.generate({
  ...inputs,
  max_new_tokens: tokens,
  min_new_tokens: tokens,
  num_beams: 1,
  do_sample: false,
});
const generateMs = performance.now() - t2;
const ids = Array.from(generated.tolist()[0], Number);
const steps = decoderCalls;
// Decode = everything in generate after the text encoder (decoder runs, their embeddings, logits
// processing and JS glue), so it compares with the other contenders' decode loops.
const decodeMs = generateMs - spent.vision - spent.prompt - spent.encoder;
console.log(JSON.stringify({
  load_ms: loadMs,
  preprocess_ms: preprocessMs,
  vision_ms: spent.vision,
  encoder_ms: spent.prompt + spent.encoder,
  decode_ms: decodeMs,
  steps,
  ms_per_token: decodeMs / Math.max(1, steps),
  e2e_ms: preprocessMs + generateMs,
  ids,
}));
