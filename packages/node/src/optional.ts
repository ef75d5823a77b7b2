import { BackendUnavailableError } from 'cbir-core';

/**
 * The optional dependencies of cbir-node: heavy, and needed only by some commands, so `npm install cbir-node` for
 * search stays small. Each is loaded on first use; when it is not installed, the error says what needs it and the
 * one command that installs it (the versions cbir is tested with).
 */
export const OPTIONAL = {
  '@techstark/opencv-js': {
    version: '4.12.0-release.1',
    for: 'ORB features (cbir bow, cbir features --kind bow; loadOpenCv)',
  },
  '@tensorflow/tfjs-converter': {
    version: '4.22.0',
    for: 'tfjs graph models (cbir features --kind tfjs-model; loadTfjsModel)',
  },
  webgpu: { version: '0.6.2', for: 'the webgpu backend (GPUs through Vulkan, Metal or D3D12; --backend webgpu)' },
  '@tensorflow/tfjs-backend-webgpu': {
    version: '4.22.0',
    for: 'the webgpu backend (GPUs through Vulkan, Metal or D3D12; --backend webgpu)',
  },
} as const;

/** Whether `e` says that `name` itself is not installed (not that something inside it failed). */
function missing(e: unknown, name: string): boolean {
  const err = e as NodeJS.ErrnoException;
  const message = String(err?.message);
  return (
    (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') &&
    [`'${name}'`, `"${name}"`, `'${name}/`].some((q) => message.includes(q))
  );
}

/** Loads the optional dependencies `names` with `load`, or throws a {@link cbir-core!BackendUnavailableError | BackendUnavailableError} saying how to install them. */
export async function importOptional<T>(names: readonly (keyof typeof OPTIONAL)[], load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const absent = names.filter((n) => missing(e, n));
    if (absent.length === 0) throw e;
    throw new BackendUnavailableError(
      `${OPTIONAL[absent[0]].for}: ${absent.join(' and ')} ${absent.length > 1 ? 'are optional dependencies' : 'is an optional dependency'} of cbir-node, not installed. ` +
        `Install: npm install ${names.map((n) => `${n}@${OPTIONAL[n].version}`).join(' ')}`,
      { cause: e },
    );
  }
}
