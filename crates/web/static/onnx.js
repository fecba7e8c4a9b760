"use strict";

// The static site's model (web --static): LeNet-5 exported as ONNX, run in the page by
// onnxruntime-web (ort.wasm.min.js, loaded before this file). app.js uses it in place of the
// server's API when it is there.
//
// The page frames a drawing into MNIST's form itself, as MNIST's digits were made (LeCun et
// al.): the ink's bounding box scaled, by area averaging, to fit 20x20 keeping its shape,
// then placed in 28x28 with its centre of mass at the centre. The server's preprocessing
// (the preprocess crate) does this too, and much more that photos need.
window.browserModel = (() => {
  // This directory, wherever the site is hosted: onnxruntime-web loads its WebAssembly from
  // here. One thread: a static host rarely sends the headers WebAssembly threads need.
  ort.env.wasm.wasmPaths = new URL(".", document.baseURI).href;
  ort.env.wasm.numThreads = 1;

  const card = fetch("model.json").then((response) => {
    if (!response.ok) {
      throw new Error(`model.json: HTTP ${response.status}`);
    }
    return response.json();
  });
  const session = ort.InferenceSession.create("model.onnx", { executionProviders: ["wasm"] });

  const SIDE = 28;
  const BOX = 20;

  /// The canvas's ink (its red channel: light ink on black) as rows of 0..255.
  function inkOf(canvas) {
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    const ink = new Float32Array(canvas.width * canvas.height);
    for (let i = 0; i < ink.length; i += 1) {
      ink[i] = data[4 * i];
    }
    return ink;
  }

  /// The 28x28 digit in MNIST's form (0..255, row after row), or null without ink.
  function mnistForm(canvas) {
    const width = canvas.width;
    const height = canvas.height;
    const ink = inkOf(canvas);
    let [left, top, right, bottom] = [width, height, -1, -1];
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < width; x += 1) {
        if (ink[y * width + x] > 0) {
          left = Math.min(left, x);
          right = Math.max(right, x);
          top = Math.min(top, y);
          bottom = Math.max(bottom, y);
        }
      }
    }
    if (right < 0) {
      return null;
    }
    const boxWidth = right - left + 1;
    const boxHeight = bottom - top + 1;
    const scale = BOX / Math.max(boxWidth, boxHeight);
    const outWidth = Math.max(1, Math.round(boxWidth * scale));
    const outHeight = Math.max(1, Math.round(boxHeight * scale));
    // Each small pixel is the mean of the source area it covers (fractions at its edges).
    const small = new Float32Array(outWidth * outHeight);
    const span = (start, end, at) => Math.max(0, Math.min(end, at + 1) - Math.max(start, at));
    for (let oy = 0; oy < outHeight; oy += 1) {
      const y0 = top + oy / scale;
      const y1 = top + (oy + 1) / scale;
      for (let ox = 0; ox < outWidth; ox += 1) {
        const x0 = left + ox / scale;
        const x1 = left + (ox + 1) / scale;
        let sum = 0;
        let area = 0;
        for (let y = Math.floor(y0); y < Math.min(Math.ceil(y1), bottom + 1); y += 1) {
          const wy = span(y0, y1, y);
          for (let x = Math.floor(x0); x < Math.min(Math.ceil(x1), right + 1); x += 1) {
            const w = wy * span(x0, x1, x);
            sum += w * ink[y * width + x];
            area += w;
          }
        }
        small[oy * outWidth + ox] = area > 0 ? sum / area : 0;
      }
    }
    let mass = 0;
    let mx = 0;
    let my = 0;
    for (let y = 0; y < outHeight; y += 1) {
      for (let x = 0; x < outWidth; x += 1) {
        const v = small[y * outWidth + x];
        mass += v;
        mx += v * (x + 0.5);
        my += v * (y + 0.5);
      }
    }
    const shiftX = Math.round(SIDE / 2 - mx / mass);
    const shiftY = Math.round(SIDE / 2 - my / mass);
    const digit = new Uint8Array(SIDE * SIDE);
    for (let y = 0; y < outHeight; y += 1) {
      for (let x = 0; x < outWidth; x += 1) {
        const tx = x + shiftX;
        const ty = y + shiftY;
        if (tx >= 0 && tx < SIDE && ty >= 0 && ty < SIDE) {
          digit[ty * SIDE + tx] = Math.round(Math.min(255, small[y * outWidth + x]));
        }
      }
    }
    return digit;
  }

  /// A layer's maps as the server sends them: {count, height, width, values}.
  function maps(tensor) {
    const [, count, height, width] = tensor.dims;
    return { count, height, width, values: Array.from(tensor.data) };
  }

  /// Classifies the drawing on `canvas`: {ok, answer} as the server's API would answer, the
  /// answer with the layers' maps.
  async function classifyCanvas(canvas) {
    const digit = mnistForm(canvas);
    if (digit === null) {
      return { ok: false, answer: { error: "no digit found: the pad is blank" } };
    }
    const { input } = await card;
    const values = new Float32Array(input.side * input.side).fill(input.values[0]);
    for (let y = 0; y < SIDE; y += 1) {
      for (let x = 0; x < SIDE; x += 1) {
        values[(y + input.padding) * input.side + x + input.padding] =
          input.values[digit[y * SIDE + x]];
      }
    }
    const feeds = { input: new ort.Tensor("float32", values, [1, 1, input.side, input.side]) };
    const outputs = await (await session).run(feeds);
    const probabilities = Array.from(outputs.probabilities.data);
    const best = probabilities.indexOf(Math.max(...probabilities));
    return {
      ok: true,
      answer: {
        digit: best,
        confidence: probabilities[best],
        probabilities,
        seen: Array.from(digit),
        c1: maps(outputs.c1),
        c3: maps(outputs.c3),
      },
    };
  }

  return { card: () => card, classifyCanvas };
})();
