// YAML of TrainingQueues and queued TrainingJobs (namespace default) for the integration tests'
// watched directories.
export const queueYaml = (name: string, runs: number) => `apiVersion: mlops.dev/v1alpha1
kind: TrainingQueue
metadata: { name: ${name} }
spec:
  quota: { runs: ${runs} }
`;

export const queuedJobYaml = (name: string, queueName: string) => `apiVersion: mlops.dev/v1alpha1
kind: TrainingJob
metadata: { name: ${name} }
spec:
  image: registry.example/train:1
  replicas: 1
  resources: { cpu: 100, memoryMB: 64, gpus: 0 }
  queue: ${queueName}
`;
