// Bottleneck's "light" build (bottleneck/light.js): the same library without its Redis clustering (about 40 KB
// less in every bundle). It ships no typings of its own; its API is that of the full build.
declare module 'bottleneck/light' {
  import Bottleneck from 'bottleneck';
  export default Bottleneck;
}
