/**
 * What the training loop (src/train/) needs of a model, so that it depends on no concrete model class.
 * nn's Model implements it; tests may implement it by hand.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { Variable } from '../nn/variable.js';

export interface ApplyOptions {
  /** Training mode: dropout active, batch norm uses and updates batch statistics, augmentation layers act. */
  training?: boolean;
}

export interface TrainableModel {
  readonly name: string;
  /** The forward pass. Ops record for autograd when the variables require grad. */
  apply(inputs: Tensor | Tensor[], opts?: ApplyOptions): Tensor | Tensor[];
  /** Every weight, trainable or not (batch norm moving statistics included), in a stable order. */
  readonly variables: readonly Variable[];
  /** The variables optimizers update (trainable layers' trainable weights). */
  readonly trainableVariables: readonly Variable[];
  /** Sum of the regularisation penalties (kernel L1/L2) on the current weights, or null when there are none. */
  regularizationLoss(): Tensor | null;
  /** Set by callbacks (EarlyStopping) to end fit() after the current epoch. */
  stopTraining: boolean;
  /**
   * Optional: names of the outputs, in the order apply returns them; keys of per-output losses and metrics
   * and prefixes of their log keys ("dense_2_loss"). Default 'output_0', 'output_1', ...
   */
  readonly outputNames?: readonly string[];
  /** Optional: where the variables live; 'cuda' makes fit / evaluate / predict upload each batch. Default 'cpu'. */
  readonly device?: 'cpu' | 'cuda';
}
