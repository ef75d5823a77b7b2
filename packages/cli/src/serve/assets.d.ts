// The search page's files, imported as strings (scripts/build/page-assets.ts does the loading).
declare module '*?raw' {
  const text: string;
  export default text;
}
declare module '*?bundle' {
  const script: string;
  export default script;
}
