// js-ipfs 0.66 pulls in a dependency that calls Promise.withResolvers, which Node
// gained in v22. Loaded with NODE_OPTIONS=--require on older Nodes.
if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}
