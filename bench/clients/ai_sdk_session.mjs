// One streamed, tool-using AI SDK session through olga: streamText with a tool and up to five steps.
// Run by bench/clients/run.py (copied next to the installed `ai` packages):
//   OLGA_BASE=http://127.0.0.1:8000 OLGA_KEY=... OLGA_MODEL=openai/gpt-4o-mini OLGA_SDK=anthropic node ...
// OLGA_SDK picks the provider package: anthropic (Messages), openai-chat (Chat Completions),
// openai (Responses, the OpenAI provider's default).
import { execFileSync } from 'node:child_process';
import { streamText, tool, jsonSchema, stepCountIs } from 'ai';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';

const base = process.env.OLGA_BASE;
const key = process.env.OLGA_KEY;
const sdk = process.env.OLGA_SDK;
const name = process.env.OLGA_MODEL;
const headers = { 'X-Title': 'ai-sdk-bench' };
const model =
  sdk === 'anthropic'
    ? createAnthropic({ baseURL: `${base}/v1`, apiKey: key, headers })(name)
    : sdk === 'openai-chat'
      ? createOpenAI({ baseURL: `${base}/v1`, apiKey: key, headers }).chat(name)
      : createOpenAI({ baseURL: `${base}/v1`, apiKey: key, headers })(name);

const result = streamText({
  model,
  prompt: 'List the files in the current directory with the list_files tool, then say you are done.',
  tools: {
    list_files: tool({
      description: 'List the files of a directory',
      inputSchema: jsonSchema({
        type: 'object',
        properties: { dir: { type: 'string' } },
        required: ['dir'],
      }),
      execute: async ({ dir }) => execFileSync('ls', [dir]).toString(),
    }),
  },
  stopWhen: stepCountIs(5), // AI SDK 6's maxSteps
});

let text = '';
for await (const part of result.fullStream) {
  if (part.type === 'text-delta') text += part.text;
  if (part.type === 'error') throw part.error;
}
const steps = await result.steps;
console.log(
  JSON.stringify({
    text,
    steps: steps.length,
    toolCalls: steps.flatMap((s) => s.toolCalls.map((c) => c.toolName)),
    toolResults: steps.flatMap((s) => s.toolResults.length),
  }),
);
