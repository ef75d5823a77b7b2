import { describeTrainingParity } from '../helpers/torch-parity.js';
import { describeTrainAutoencoder } from './train-autoencoder.cases.js';

// train-autoencoder.test.ts's checks on tfjs's cpu backend (the unit suite runs them on wasm): minutes on two cores.
describeTrainingParity('cpu');
describeTrainAutoencoder('cpu');
