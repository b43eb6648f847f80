// The performance mark the client sets once the charts of a page are drawn (the benchmark and the browser tests
// read it in the page): imports nothing, so Node code can import it too.
export const CHARTS_DRAWN_MARK = 'dashboard:charts-drawn';
