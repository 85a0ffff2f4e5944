/** The config `lth init` writes: LeNet-300-100 on MNIST, as in Frankle & Carbin (2019), shortened. */
export const exampleConfig = {
  name: 'lenet-mnist',
  seed: 0,
  dataset: { use: 'mnist', validation: 5000 },
  model: { use: 'lenet-300-100' },
  training: {
    optimizer: { use: 'adam', lr: 0.0012 },
    batchSize: 60,
    iterations: 5000,
    evalEvery: 500,
  },
  pruning: {
    schedule: { use: 'iterative', levels: 5, rate: 0.2 },
    scorer: { use: 'magnitude' },
    masker: { use: 'layerwise', overrides: { output: 0.1 } },
    rewind: { use: 'iteration', at: 0 },
  },
  replicates: 1,
};
