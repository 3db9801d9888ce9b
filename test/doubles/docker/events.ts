// The Docker engine's event lines as GET /v1.41/events streams them (one EventMessage object per
// line; moby api/types/events.Message), for the loopback engine doubles of the event-stream tests.
// test/scheduler/docker-contract.test.ts validates what this writes against the Engine API spec.
export function eventLine(
  id: string,
  action: string,
  timeNano: number,
  attributes: Readonly<Record<string, string>> = { "mlops.dev/key": "TrainingJob/default/a" },
): string {
  return `${JSON.stringify({
    Type: "container",
    Action: action,
    Actor: { ID: id, Attributes: attributes },
    time: Math.floor(timeNano / 1e9),
    timeNano,
  })}\n`;
}
