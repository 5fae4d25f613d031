import { el } from "./api.js"; document.getElementById("chart-page").append(el("p", {}, "loading"));
