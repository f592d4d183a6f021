// losscape as a library: a landscape and the Hessian's extremes around one set of weights.
// Run from a project that has losscape installed: node library.mjs
import { buildModel, computeSurface, createEngine, parseAxis, pointEigenvalues, randomPlane, synthetic } from 'losscape';

const data = synthetic({ kind: 'spirals', n: 300, seed: 0 });
const model = buildModel({ type: 'mlp', hidden: [16], activation: 'tanh' }, data.inputShape, data.outputDim);
const theta = model.init(0);
const engine = await createEngine(model, data); // onnxruntime, falling back to jax-js

const { dx, dy } = randomPlane(theta, model.layout, { seed: 123, norm: 'filter', ignore: 'biasbn' });
const grid = { x: parseAxis('-1:1:9'), y: parseAxis('-1:1:9') };
const surface = await computeSurface({ theta, dx, dy, grid, engines: { train: engine }, path: 'surface.h5', context: 'library example' });
const loss = surface.values.train_loss; // row-major [ny, nx]: element [i, j] is (x_j, y_i)
console.log(`loss at the centre ${loss[4 * 9 + 4].toFixed(4)}, range ${Math.min(...loss).toFixed(4)}..${Math.max(...loss).toFixed(4)}`);

const eig = await pointEigenvalues(engine, theta);
console.log(`Hessian at the centre: lambda_max ${eig.lambdaMax.toFixed(4)}, lambda_min ${eig.lambdaMin.toFixed(4)}, converged ${eig.converged}`);
await engine.dispose();
