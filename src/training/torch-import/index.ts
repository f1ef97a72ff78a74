/** Import of official UGATIT-pytorch checkpoints: `readTorchCheckpoint(file)` and `inferConfig(state)`. */
export { readTorchCheckpoint, type ReadTorchOptions } from './torch-checkpoint.ts';
export {
  inferConfig,
  validateState,
  expectedGeneratorShapes,
  expectedDiscriminatorShapes,
  type InferredConfig,
  type GeneratorShapeConfig,
} from '../networks/shapes.ts';
export { importTorchCheckpoint, stepFromFileName, DEFAULT_LIGHT_IMG_SIZE, type ImportTorchOptions, type ImportTorchResult } from './import-torch.ts';
