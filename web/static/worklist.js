import { el } from "./api.js"; document.getElementById("worklist").append(el("p", {}, "loading"));
