/**
 * Pins the masks and numbers of a shortened examples/sweep-lenet.json (real MNIST, LeNet with 64 and 32 hidden units,
 * both maskers, two rewind points, every control) on the deterministic cpu backend. The values
 * were recorded before the core redesign (stages, run store, controls as branches): the redesign
 * must not change a single mask bit or summary number for the same seeds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSweep, tf } from '@lth/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discover } from '../src/context.js';
import { readPinnedResults } from './pin-results.js';

const here = dirname(fileURLToPath(import.meta.url));
let out: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  out = mkdtempSync(join(tmpdir(), 'lth-pin-'));
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

export const shortSweep = {
  name: 'sweep-lenet-short',
  seed: 0,
  replicates: 1,
  dataset: { use: 'mnist', validation: 200, trainSubset: 1200, testSubset: 300 },
  model: { use: 'lenet-64-32' },
  training: { optimizer: { use: 'adam', lr: 0.0012 }, batchSize: 60, iterations: 40, evalEvery: 20 },
  pruning: {
    schedule: { use: 'iterative', levels: 2, rate: 0.36 },
    scorer: { use: 'magnitude' },
    masker: { use: 'layerwise', overrides: { output: 0.18 } },
    rewind: { use: 'iteration', at: 0 },
  },
  vary: { 'pruning.masker.use': ['layerwise', 'global'], 'pruning.rewind.at': [0, 20] },
  controls: ['reinit', 'random-prune', 'shuffle'],
};

describe('sweep-lenet (shortened) before and after the core redesign', () => {
  it('gives the pinned masks and numbers', { timeout: 600_000 }, async () => {
    const { registry } = await discover(process.stderr, here);
    const result = await runSweep(shortSweep, registry, { outDir: out });
    expect(result.complete).toBe(true);
    const got = readPinnedResults(result.sweepDir);
    if (process.env.LTH_PRINT_PIN) console.log(JSON.stringify(got, null, 1));
    expect(got).toEqual(PINNED);
  });
});

/** Recorded with the pre-redesign release (commit 42ffa12, controls as runs of their own) on the cpu backend. */
const PINNED = {
  "masker.use=layerwise, rewind.at=0": {
    "replicate-0/level-0": {
      "mask": "f229590c94cce29e",
      "remaining": 52544,
      "finalTestAccuracy": 0.78,
      "finalTrainLoss": 0.7838403065999349,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 0.8442572021484375
    },
    "replicate-0/level-1": {
      "mask": "f5d44c828d5dc97a",
      "remaining": 33686,
      "finalTestAccuracy": 0.8066666666666666,
      "finalTrainLoss": 0.7013474527994792,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 0.7465699768066406
    },
    "replicate-0/level-2": {
      "mask": "78d1aa639f35fb16",
      "remaining": 21606,
      "finalTestAccuracy": 0.7933333333333333,
      "finalTrainLoss": 0.7774845631917318,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 0.8342234802246093
    }
  },
  "masker.use=layerwise, rewind.at=0 / reinit": {
    "replicate-0/level-1": {
      "mask": "f5d44c828d5dc97a",
      "remaining": 33686,
      "finalTestAccuracy": 0.6966666666666667,
      "finalTrainLoss": 1.1744579696655273,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.2150023651123047
    },
    "replicate-0/level-2": {
      "mask": "78d1aa639f35fb16",
      "remaining": 21606,
      "finalTestAccuracy": 0.49,
      "finalTrainLoss": 1.7319723510742187,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.7884820556640626
    }
  },
  "masker.use=layerwise, rewind.at=0 / random-prune": {
    "replicate-0/level-1": {
      "mask": "34309e0f17ca35a7",
      "remaining": 33686,
      "finalTestAccuracy": 0.63,
      "finalTrainLoss": 1.325107421875,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.4126789855957032
    },
    "replicate-0/level-2": {
      "mask": "529bd6120973cdc2",
      "remaining": 21606,
      "finalTestAccuracy": 0.47,
      "finalTrainLoss": 1.7475970967610677,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.7907383728027344
    }
  },
  "masker.use=layerwise, rewind.at=0 / shuffle": {
    "replicate-0/level-1": {
      "mask": "e6ad8518c39a8146",
      "remaining": 33686,
      "finalTestAccuracy": 0.6233333333333333,
      "finalTrainLoss": 1.186847915649414,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.2580599212646484
    },
    "replicate-0/level-2": {
      "mask": "8b85085b0cf84a7b",
      "remaining": 21606,
      "finalTestAccuracy": 0.55,
      "finalTrainLoss": 1.6976464589436848,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.7219834899902344
    }
  },
  "masker.use=layerwise, rewind.at=20": {
    "replicate-0/level-0": {
      "mask": "f229590c94cce29e",
      "remaining": 52544,
      "finalTestAccuracy": 0.78,
      "finalTrainLoss": 0.7838403065999349,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 0.8442572021484375
    },
    "replicate-0/level-1": {
      "mask": "f5d44c828d5dc97a",
      "remaining": 33686,
      "finalTestAccuracy": 0.7833333333333333,
      "finalTrainLoss": 0.8000159072875976,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 0.868568115234375
    },
    "replicate-0/level-2": {
      "mask": "d4115049c6de493e",
      "remaining": 21606,
      "finalTestAccuracy": 0.7766666666666666,
      "finalTrainLoss": 0.9574537785847982,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.0412995910644531
    }
  },
  "masker.use=layerwise, rewind.at=20 / reinit": {
    "replicate-0/level-1": {
      "mask": "f5d44c828d5dc97a",
      "remaining": 33686,
      "finalTestAccuracy": 0.6966666666666667,
      "finalTrainLoss": 1.1744579696655273,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.2150023651123047
    },
    "replicate-0/level-2": {
      "mask": "d4115049c6de493e",
      "remaining": 21606,
      "finalTestAccuracy": 0.4866666666666667,
      "finalTrainLoss": 1.6915361022949218,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.7455528259277344
    }
  },
  "masker.use=layerwise, rewind.at=20 / random-prune": {
    "replicate-0/level-1": {
      "mask": "34309e0f17ca35a7",
      "remaining": 33686,
      "finalTestAccuracy": 0.6,
      "finalTrainLoss": 1.5137666320800782,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.5843389892578126
    },
    "replicate-0/level-2": {
      "mask": "529bd6120973cdc2",
      "remaining": 21606,
      "finalTestAccuracy": 0.5366666666666666,
      "finalTrainLoss": 1.9184565734863281,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.952631378173828
    }
  },
  "masker.use=layerwise, rewind.at=20 / shuffle": {
    "replicate-0/level-1": {
      "mask": "e6ad8518c39a8146",
      "remaining": 33686,
      "finalTestAccuracy": 0.6533333333333333,
      "finalTrainLoss": 1.3094352213541667,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.3601985168457031
    },
    "replicate-0/level-2": {
      "mask": "8a27ba365454b65d",
      "remaining": 21606,
      "finalTestAccuracy": 0.4666666666666667,
      "finalTrainLoss": 1.9146799977620443,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.9331382751464843
    }
  },
  "masker.use=global, rewind.at=0": {
    "replicate-0/level-0": {
      "mask": "f229590c94cce29e",
      "remaining": 52544,
      "finalTestAccuracy": 0.78,
      "finalTrainLoss": 0.7838403065999349,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 0.8442572021484375
    },
    "replicate-0/level-1": {
      "mask": "4eb0342363e6e7ef",
      "remaining": 33685,
      "finalTestAccuracy": 0.7966666666666666,
      "finalTrainLoss": 0.7084717686971028,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 0.7586159515380859
    },
    "replicate-0/level-2": {
      "mask": "54283dcfff09a838",
      "remaining": 21606,
      "finalTestAccuracy": 0.7933333333333333,
      "finalTrainLoss": 0.7427330525716146,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 0.7977716064453125
    }
  },
  "masker.use=global, rewind.at=0 / reinit": {
    "replicate-0/level-1": {
      "mask": "4eb0342363e6e7ef",
      "remaining": 33685,
      "finalTestAccuracy": 0.7233333333333334,
      "finalTrainLoss": 1.0846842702229818,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.127655258178711
    },
    "replicate-0/level-2": {
      "mask": "54283dcfff09a838",
      "remaining": 21606,
      "finalTestAccuracy": 0.5833333333333334,
      "finalTrainLoss": 1.5170840962727865,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.5652174377441406
    }
  },
  "masker.use=global, rewind.at=0 / random-prune": {
    "replicate-0/level-1": {
      "mask": "a6a63237246db414",
      "remaining": 33685,
      "finalTestAccuracy": 0.6333333333333333,
      "finalTrainLoss": 1.212670135498047,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.2988352966308594
    },
    "replicate-0/level-2": {
      "mask": "7fdcfd67be0fccf7",
      "remaining": 21606,
      "finalTestAccuracy": 0.5666666666666667,
      "finalTrainLoss": 1.5028316497802734,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.5842501831054687
    }
  },
  "masker.use=global, rewind.at=0 / shuffle": {
    "replicate-0/level-1": {
      "mask": "a11045cf3e5c3bd2",
      "remaining": 33685,
      "finalTestAccuracy": 0.6833333333333333,
      "finalTrainLoss": 1.053299446105957,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.1061156463623047
    },
    "replicate-0/level-2": {
      "mask": "adc3d8335d28b120",
      "remaining": 21606,
      "finalTestAccuracy": 0.49333333333333335,
      "finalTrainLoss": 1.532055409749349,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.5823406982421875
    }
  },
  "masker.use=global, rewind.at=20": {
    "replicate-0/level-0": {
      "mask": "f229590c94cce29e",
      "remaining": 52544,
      "finalTestAccuracy": 0.78,
      "finalTrainLoss": 0.7838403065999349,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 0.8442572021484375
    },
    "replicate-0/level-1": {
      "mask": "4eb0342363e6e7ef",
      "remaining": 33685,
      "finalTestAccuracy": 0.7933333333333333,
      "finalTrainLoss": 0.7991946919759114,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 0.8682610321044922
    },
    "replicate-0/level-2": {
      "mask": "0096d38bdf0824fa",
      "remaining": 21606,
      "finalTestAccuracy": 0.7766666666666666,
      "finalTrainLoss": 0.884095573425293,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 0.9643370819091797
    }
  },
  "masker.use=global, rewind.at=20 / reinit": {
    "replicate-0/level-1": {
      "mask": "4eb0342363e6e7ef",
      "remaining": 33685,
      "finalTestAccuracy": 0.7233333333333334,
      "finalTrainLoss": 1.0846842702229818,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.127655258178711
    },
    "replicate-0/level-2": {
      "mask": "0096d38bdf0824fa",
      "remaining": 21606,
      "finalTestAccuracy": 0.6166666666666667,
      "finalTrainLoss": 1.4929692840576172,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.5477780151367186
    }
  },
  "masker.use=global, rewind.at=20 / random-prune": {
    "replicate-0/level-1": {
      "mask": "a6a63237246db414",
      "remaining": 33685,
      "finalTestAccuracy": 0.6266666666666667,
      "finalTrainLoss": 1.357811279296875,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.42946044921875
    },
    "replicate-0/level-2": {
      "mask": "04e276aff44ddaa2",
      "remaining": 21606,
      "finalTestAccuracy": 0.5833333333333334,
      "finalTrainLoss": 1.66282101949056,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.7282627868652343
    }
  },
  "masker.use=global, rewind.at=20 / shuffle": {
    "replicate-0/level-1": {
      "mask": "a11045cf3e5c3bd2",
      "remaining": 33685,
      "finalTestAccuracy": 0.68,
      "finalTrainLoss": 1.2039450073242188,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.253268280029297
    },
    "replicate-0/level-2": {
      "mask": "b4d032b59e64c344",
      "remaining": 21606,
      "finalTestAccuracy": 0.51,
      "finalTrainLoss": 1.7168899536132813,
      "earlyStopIteration": 40,
      "earlyStopValidationLoss": 1.763455810546875
    }
  }
};
