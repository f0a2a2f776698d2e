//! Entry point: make the API (which takes any `#token=` off the address first), start the
//! router, mount the app, then load.

import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { createApi } from './lib/backend';
import { start } from './lib/state/app';
import { router } from './lib/state/router.svelte';

const api = createApi();
router.start();
const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');
mount(App, { target });
void start(api);
