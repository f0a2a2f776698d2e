//! Entry point: pick the backend (which takes any `#token=` off the address first), start
//! the router, mount the app, then load.

import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { createBackend } from './lib/backend';
import { app } from './lib/state/app.svelte';
import { router } from './lib/state/router.svelte';

const backend = createBackend();
router.start();
const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');
mount(App, { target });
void app.start(backend);
