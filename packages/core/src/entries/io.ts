/**
 * cbir-core/io: the file formats cbir reads and writes on its own, for code that handles files below the task API:
 * safetensors, PyTorch's zip and pickle (tensors, ordered dicts), numpy's `.npy`/`.npz` and pickles, CRC-32.
 * @packageDocumentation
 */
export { readSafetensors, writeSafetensors, type Float32Tensors } from '../io/safetensors.js';
export { readTorchFile, writeTorchFile, orderedDict } from '../io/torch-file.js';
export { PyFloat, PyTuple, PyCall, PyGlobal, PyPersistentId, type PickleValue } from '../io/pickle.js';
export { TorchTensor, type TorchDType } from '../io/torch-tensor.js';
export { readNpy, readNpz, writeNpy, type NpyArray } from '../io/npy.js';
export { unpickleNumpy, PyObject, type NumpyPickleOptions } from '../io/numpy-pickle.js';
export { crc32 } from '../io/crc32.js';
