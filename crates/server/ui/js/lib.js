// The one dependency: Preact with hooks and htm's tagged templates (vendor/README.md).
export {
    html,
    render,
    useState,
    useEffect,
    useCallback,
    useMemo,
    useRef,
} from '../vendor/htm-preact-standalone-3.1.1.js';
