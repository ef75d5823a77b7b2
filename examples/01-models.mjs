// Notebook step: define ConvAutoencoder and ConvAutoencoderV2 and print their summaries at 512x512.
import { ConvAutoencoder, ConvAutoencoderV2, initNodeBackend } from 'cbir-node';

await initNodeBackend();
for (const Model of [ConvAutoencoder, ConvAutoencoderV2]) {
  const ae = new Model({ inputSize: 512 });
  console.log(ae.formatSummary(), '\n');
  ae.dispose();
}
