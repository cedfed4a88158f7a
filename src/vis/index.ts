/**
 * vis: looking inside a network, written as PNG files (no image library needed: src/vis/png.ts encodes them).
 *
 * - `activationGrid(featureMap)`: the channels of a layer's output for one image, tiled (get the output with
 *   `model.intermediate(layerName)`);
 * - `visualizeFilter(model, layer, i)` / `filterGrid(model, layer)`: the input patterns that excite filters most,
 *   by gradient ascent in input space;
 * - `gradCam(model, image)` / `gradCamOverlay(image, heatmap)`: where the evidence for a class lies;
 * - `encodePng`, `writePng` and the `colormaps` (gray, viridis, jet) they use.
 */
export { activationGrid } from './activations.js';
export type { ActivationGridOptions } from './activations.js';
export { visualizeFilter, filterGrid } from './filters.js';
export type { VisualizeFilterOptions, FilterVisualization, FilterGridOptions, FilterGrid } from './filters.js';
export { gradCam, gradCamOverlay } from './gradcam.js';
export type { GradCamOptions, GradCamOverlayOptions } from './gradcam.js';
export { encodePng, writePng } from './png.js';
export type { RawImage, EncodePngOptions, PngFilter } from './png.js';
export { colormaps, COLORMAP_NAMES } from './colormap.js';
export type { ColormapName } from './colormap.js';
export type { VisImage } from './raster.js';
