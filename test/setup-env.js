// Tests read logs only when something fails: keep them quiet unless LOG_LEVEL says otherwise.
process.env.LOG_LEVEL = process.env.LOG_LEVEL || 'silent';
