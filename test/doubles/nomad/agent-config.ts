// The double's node from a Nomad agent configuration (HCL as the stack renders it): the client's
// `host_volume "name" { path = "..." read_only = true }` blocks (structs.ClientHostVolumeConfig),
// and device groups only when a device plugin is configured: Nomad 1.9.6 bundles no device plugin
// (helper/pluginutils/catalog/register.go registers task drivers only), so without
// `plugin "nomad-device-nvidia"` a node has no devices whatever its hardware. The double has no
// hardware to fingerprint: `gpus` stands for what the NVIDIA plugin would find. Node built-ins only.
import { type DoubleNode, doubleNode } from "./placement.ts";

const NVIDIA_PLUGIN = "nomad-device-nvidia";

/** The body of each `keyword "label" { ... }` block (one level of nested braces). */
function blocks(text: string, keyword: string): { label: string; body: string }[] {
  const out: { label: string; body: string }[] = [];
  const pattern = new RegExp(`\\b${keyword}\\s+"([^"]+)"\\s*\\{((?:[^{}]|\\{[^{}]*\\})*)\\}`, "g");
  for (const match of text.matchAll(pattern)) out.push({ label: match[1] ?? "", body: match[2] ?? "" });
  return out;
}

export function nodeFromAgentConfig(
  text: string,
  options: { gpus?: number; index?: number } = {},
): DoubleNode {
  const hostVolumes: Record<string, { path: string; readOnly: boolean }> = {};
  for (const { label, body } of blocks(text, "host_volume")) {
    const path = /\bpath\s*=\s*"([^"]*)"/.exec(body)?.[1] ?? "";
    hostVolumes[label] = { path, readOnly: /\bread_only\s*=\s*true\b/.test(body) };
  }
  const plugin = blocks(text, "plugin").find((b) => b.label === NVIDIA_PLUGIN);
  const enabled = plugin !== undefined && !/\benabled\s*=\s*false\b/.test(plugin.body);
  const gpus = enabled ? (options.gpus ?? 0) : 0;
  const name = /^name\s*=\s*"([^"]+)"/m.exec(text)?.[1];
  return doubleNode(options.index ?? 1, {
    ...(name ? { name } : {}),
    hostVolumes,
    devices: gpus > 0 ? [{ vendor: "nvidia", type: "gpu", name: "Tesla T4", instances: gpus }] : [],
  });
}
